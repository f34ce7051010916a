//! Maps each Caffe layer type to an engine op.

use super::proto::{
    eltwise_parameter::EltwiseOp,
    lrn_parameter::NormRegion,
    pooling_parameter::{PoolMethod, RoundMode},
    LayerParameter,
};
use crate::ops::{self, lrn::LrnRegion, Activation, Op, PoolKind, PoolRounding};
use crate::{bail, Result};

/// Layer types the engine runs.
pub const SUPPORTED: &[&str] = &[
    "Convolution",
    "Pooling",
    "ReLU",
    "PReLU",
    "Sigmoid",
    "TanH",
    "LRN",
    "InnerProduct",
    "Softmax",
    "Dropout",
    "Flatten",
    "Reshape",
    "Concat",
    "Eltwise",
    "BatchNorm",
    "Scale",
    "Split",
    "Slice",
];

/// Layer types that feed data in training; in a deploy net they become inputs.
pub const DATA_LAYERS: &[&str] =
    &["Data", "ImageData", "HDF5Data", "MemoryData", "WindowData", "DummyData", "AnnotatedData", "VideoData"];

/// Layer types that only score training; a deploy net drops them.
pub const TRAINING_ONLY: &[&str] = &[
    "SoftmaxWithLoss",
    "Accuracy",
    "EuclideanLoss",
    "SigmoidCrossEntropyLoss",
    "HingeLoss",
    "InfogainLoss",
    "ContrastiveLoss",
    "MultinomialLogisticLoss",
    "Silence",
    "HDF5Output",
];

/// Picks Caffe's (h, w) from a repeated field, its _h/_w overrides and a default.
fn hw(repeated: &[u32], h: Option<u32>, w: Option<u32>, default: u32, what: &str, layer: &str) -> Result<[usize; 2]> {
    if let (Some(h), Some(w)) = (h, w) {
        return Ok([h as usize, w as usize]);
    }
    match repeated {
        [] => Ok([default as usize; 2]),
        [v] => Ok([*v as usize; 2]),
        [a, b] => Ok([*a as usize, *b as usize]),
        _ => bail!(
            unsupported,
            "layer '{layer}': {} {what} values means a {}-D convolution; only 2-D is supported",
            repeated.len(),
            repeated.len()
        ),
    }
}

pub fn op_for(l: &LayerParameter) -> Result<Op> {
    let name = l.name();
    Ok(match l.r#type() {
        "Convolution" => {
            let p = l.convolution_param.clone().unwrap_or_default();
            if p.axis() != 1 {
                bail!(
                    unsupported,
                    "layer '{name}': convolution over axis {} (only axis 1, NCHW, is supported)",
                    p.axis()
                );
            }
            let kernel = hw(&p.kernel_size, p.kernel_h, p.kernel_w, 0, "kernel_size", name)?;
            if kernel.contains(&0) {
                bail!(model, "layer '{name}': convolution has no kernel_size");
            }
            let pad = hw(&p.pad, p.pad_h, p.pad_w, 0, "pad", name)?;
            Op::Conv(ops::Conv {
                out_channels: p.num_output() as usize,
                kernel,
                stride: hw(&p.stride, p.stride_h, p.stride_w, 1, "stride", name)?,
                pads: [pad[0], pad[1], pad[0], pad[1]],
                dilation: hw(&p.dilation, None, None, 1, "dilation", name)?,
                group: p.group() as usize,
                bias: p.bias_term(),
                packed: Default::default(),
            })
        }
        "Pooling" => {
            let p = l.pooling_param.unwrap_or_default();
            let kind = match p.pool() {
                PoolMethod::Max => PoolKind::Max,
                PoolMethod::Ave => PoolKind::Average,
                PoolMethod::Stochastic => {
                    bail!(unsupported, "layer '{name}': STOCHASTIC pooling is not supported (MAX and AVE are)")
                }
            };
            let kernel = hw(p.kernel_size.as_slice(), p.kernel_h, p.kernel_w, 0, "kernel_size", name)?;
            let global = p.global_pooling();
            if !global && kernel.contains(&0) {
                bail!(model, "layer '{name}': pooling needs kernel_size or global_pooling");
            }
            let pad = hw(p.pad.as_slice(), p.pad_h, p.pad_w, 0, "pad", name)?;
            Op::Pool(ops::Pool {
                kind,
                kernel,
                stride: hw(p.stride.as_slice(), p.stride_h, p.stride_w, 1, "stride", name)?,
                pads: [pad[0], pad[1], pad[0], pad[1]],
                dilation: [1, 1],
                rounding: if p.round_mode() == RoundMode::Ceil { PoolRounding::CaffeCeil } else { PoolRounding::Floor },
                global,
                count_include_pad: true,
            })
        }
        "ReLU" => {
            Op::Activation(Activation::Relu { negative_slope: l.relu_param.unwrap_or_default().negative_slope() })
        }
        "PReLU" => Op::Activation(Activation::PRelu {
            channel_shared: l.prelu_param.clone().unwrap_or_default().channel_shared(),
        }),
        "Sigmoid" => Op::Activation(Activation::Sigmoid),
        "TanH" => Op::Activation(Activation::Tanh),
        "LRN" => {
            let p = l.lrn_param.unwrap_or_default();
            if p.local_size().is_multiple_of(2) {
                bail!(model, "layer '{name}': LRN local_size must be odd, got {}", p.local_size());
            }
            Op::Lrn(ops::Lrn {
                size: p.local_size() as usize,
                alpha: p.alpha(),
                beta: p.beta(),
                k: p.k(),
                region: match p.norm_region() {
                    NormRegion::AcrossChannels => LrnRegion::AcrossChannels,
                    NormRegion::WithinChannel => LrnRegion::WithinChannel,
                },
            })
        }
        "InnerProduct" => {
            let p = l.inner_product_param.clone().unwrap_or_default();
            Op::InnerProduct(ops::InnerProduct {
                num_output: p.num_output() as usize,
                axis: p.axis() as i64,
                transpose: p.transpose(),
                bias: p.bias_term(),
            })
        }
        "Softmax" => Op::Softmax(ops::Softmax { axis: l.softmax_param.unwrap_or_default().axis() as i64 }),
        "Dropout" => Op::Identity,
        "Split" => Op::Split,
        "Flatten" => {
            let p = l.flatten_param.unwrap_or_default();
            Op::Flatten(ops::Flatten { axis: p.axis() as i64, end_axis: p.end_axis() as i64 })
        }
        "Reshape" => {
            let p = l.reshape_param.clone().unwrap_or_default();
            Op::Reshape(ops::Reshape {
                dims: p.shape.clone().unwrap_or_default().dim,
                axis: p.axis() as i64,
                num_axes: p.num_axes() as i64,
            })
        }
        "Concat" => {
            let p = l.concat_param.unwrap_or_default();
            let axis = if p.concat_dim.is_some() { p.concat_dim() as i64 } else { p.axis() as i64 };
            Op::Concat(ops::Concat { axis })
        }
        "Slice" => {
            let p = l.slice_param.clone().unwrap_or_default();
            let axis = if p.slice_dim.is_some() { p.slice_dim() as i64 } else { p.axis() as i64 };
            Op::Slice(ops::Slice { axis, points: p.slice_point.iter().map(|&v| v as usize).collect() })
        }
        "Eltwise" => {
            let p = l.eltwise_param.clone().unwrap_or_default();
            Op::Eltwise(match p.operation() {
                EltwiseOp::Sum => ops::Eltwise::Sum { coeffs: p.coeff.clone() },
                EltwiseOp::Prod => ops::Eltwise::Prod,
                EltwiseOp::Max => ops::Eltwise::Max,
            })
        }
        "BatchNorm" => Op::BatchNorm(ops::BatchNorm { eps: l.batch_norm_param.clone().unwrap_or_default().eps() }),
        "Scale" => {
            let p = l.scale_param.clone().unwrap_or_default();
            Op::Scale(ops::Scale { axis: p.axis() as i64, num_axes: p.num_axes() as i64, bias: p.bias_term() })
        }
        other => bail!(
            unsupported,
            "layer '{name}' has type '{other}', which zfvis does not run. Supported types: {}",
            SUPPORTED.join(", ")
        ),
    })
}
