//! Caffe's weight fillers (filler.hpp), from a layer's `weight_filler` / `bias_filler`, drawing from a
//! seeded [`Rng`].

use super::params::blob_count;
use super::rng::Rng;
use crate::formats::caffe::proto::{filler_parameter::VarianceNorm, FillerParameter, LayerParameter};
use crate::{bail, Error, Result, Tensor};

/// What n the xavier and msra fillers divide by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    /// count / shape[0] (Caffe's default).
    FanIn,
    /// count / shape[1].
    FanOut,
    /// (fan_in + fan_out) / 2.
    Average,
}

/// One of Caffe's fillers with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Filler {
    Constant {
        value: f32,
    },
    /// Uniform in [min, max].
    Uniform {
        min: f32,
        max: f32,
    },
    /// N(mean, std²); with `sparse` ≥ 0, each weight is kept with probability sparse / shape[0] and zeroed
    /// otherwise.
    Gaussian {
        mean: f32,
        std: f32,
        sparse: Option<u32>,
    },
    /// Uniform in [−√(3/n), √(3/n)].
    Xavier {
        norm: Norm,
    },
    /// N(0, 2/n).
    Msra {
        norm: Norm,
    },
    /// Uniform in [0, 1], then each item (index of the first axis) scaled to sum to 1.
    PositiveUnitball,
    /// The weights of bilinear upsampling for a Deconvolution (4-D, square kernels).
    Bilinear,
}

impl Filler {
    /// The filler a FillerParameter describes (type defaults to "constant", as in caffe.proto).
    pub fn from_param(p: &FillerParameter) -> Result<Self> {
        let norm = match VarianceNorm::try_from(p.variance_norm.unwrap_or(0)) {
            Ok(VarianceNorm::FanIn) => Norm::FanIn,
            Ok(VarianceNorm::FanOut) => Norm::FanOut,
            Ok(VarianceNorm::Average) => Norm::Average,
            Err(_) => bail!(format, "unknown variance_norm {}", p.variance_norm.unwrap_or(0)),
        };
        Ok(match p.r#type() {
            "constant" => Filler::Constant { value: p.value() },
            "uniform" => {
                let (min, max) = (p.min(), p.max());
                if !min.is_finite() || !max.is_finite() || min > max {
                    bail!(input, "the uniform filler needs finite min ≤ max, not min {min}, max {max}");
                }
                Filler::Uniform { min, max }
            }
            "gaussian" => {
                let (mean, std) = (p.mean(), p.std());
                if !mean.is_finite() || !std.is_finite() || std < 0.0 {
                    bail!(input, "the gaussian filler needs a finite mean and std ≥ 0, not mean {mean}, std {std}");
                }
                Filler::Gaussian { mean, std, sparse: u32::try_from(p.sparse()).ok() }
            }
            "xavier" => Filler::Xavier { norm },
            "msra" => Filler::Msra { norm },
            "positive_unitball" => Filler::PositiveUnitball,
            "bilinear" => Filler::Bilinear,
            other => bail!(
                unsupported,
                "unknown filler type \"{other}\" (Caffe's are constant, gaussian, uniform, xavier, msra, positive_unitball, bilinear)"
            ),
        })
    }

    /// A blob of this shape, filled. Draws come from `rng` in the blob's row-major order.
    pub fn fill(&self, shape: &[usize], rng: &mut Rng) -> Result<Tensor> {
        let count: usize = shape.iter().product();
        let mut t = Tensor::zeros(shape);
        let data = t.as_slice_mut().expect("a fresh array is contiguous");
        match *self {
            Filler::Constant { value } => data.fill(value),
            Filler::Uniform { min, max } => data.iter_mut().for_each(|x| *x = rng.uniform(min, max)),
            Filler::Gaussian { mean, std, sparse } => {
                data.iter_mut().for_each(|x| *x = rng.gaussian(mean, std));
                if let Some(sparse) = sparse {
                    let Some(&num) = shape.first() else {
                        bail!(input, "the sparse gaussian filler needs a blob with axes")
                    };
                    let p = sparse as f64 / num as f64;
                    data.iter_mut().for_each(|x| {
                        if !rng.bernoulli(p) {
                            *x = 0.0;
                        }
                    });
                }
            }
            Filler::Xavier { norm } => {
                let s = (3.0 / fan(shape, norm)?).sqrt();
                data.iter_mut().for_each(|x| *x = rng.uniform(-s, s));
            }
            Filler::Msra { norm } => {
                let std = (2.0 / fan(shape, norm)?).sqrt();
                data.iter_mut().for_each(|x| *x = rng.gaussian(0.0, std));
            }
            Filler::PositiveUnitball => {
                data.iter_mut().for_each(|x| *x = rng.uniform(0.0, 1.0));
                let Some(&num) = shape.first().filter(|&&n| n > 0) else { return Ok(t) };
                for item in data.chunks_mut(count / num) {
                    let sum: f32 = item.iter().sum();
                    if sum > 0.0 {
                        item.iter_mut().for_each(|x| *x /= sum);
                    }
                }
            }
            Filler::Bilinear => {
                if shape.len() != 4 || shape[2] != shape[3] {
                    bail!(input, "the bilinear filler needs a 4-D blob with a square kernel, not {shape:?}");
                }
                let w = shape[3];
                let f = (w as f32 / 2.0).ceil();
                let c = (2.0 * f - 1.0 - (f as usize % 2) as f32) / (2.0 * f);
                for (i, x) in data.iter_mut().enumerate() {
                    let (xx, yy) = ((i % w) as f32, ((i / w) % w) as f32);
                    *x = (1.0 - (xx / f - c).abs()) * (1.0 - (yy / f - c).abs());
                }
            }
        }
        Ok(t)
    }
}

/// Caffe's n for xavier and msra: fan_in = count / shape[0], fan_out = count / shape[1] (count for a 1-D
/// blob), or their mean.
pub fn fan(shape: &[usize], norm: Norm) -> Result<f32> {
    let count: usize = shape.iter().product();
    if shape.is_empty() || count == 0 {
        bail!(input, "the xavier and msra fillers need a non-empty blob, not {shape:?}");
    }
    let fan_in = (count / shape[0]) as f32;
    let fan_out = if shape.len() > 1 { (count / shape[1]) as f32 } else { count as f32 };
    Ok(match norm {
        Norm::FanIn => fan_in,
        Norm::FanOut => fan_out,
        Norm::Average => (fan_in + fan_out) / 2.0,
    })
}

/// Fills a blob from a FillerParameter.
pub fn fill(p: &FillerParameter, shape: &[usize], rng: &mut Rng) -> Result<Tensor> {
    Filler::from_param(p)?.fill(shape, rng)
}

/// A layer's fillers in blob order, with Caffe's defaults for the ones not given (constant 0, and for
/// Scale's scale constant 1, PReLU's slope constant 0.25). Empty for a layer without parameter blobs.
pub fn layer_fillers(layer: &LayerParameter) -> Result<Vec<Filler>> {
    let constant =
        |value| FillerParameter { r#type: Some("constant".into()), value: Some(value), ..Default::default() };
    let or = |p: Option<&FillerParameter>, default: FillerParameter| p.cloned().unwrap_or(default);
    let n = blob_count(layer).unwrap_or(0);
    let params: Vec<FillerParameter> = match layer.r#type() {
        "Convolution" | "Deconvolution" => {
            let c = layer.convolution_param.clone().unwrap_or_default();
            vec![or(c.weight_filler.as_ref(), constant(0.0)), or(c.bias_filler.as_ref(), constant(0.0))]
        }
        "InnerProduct" => {
            let c = layer.inner_product_param.clone().unwrap_or_default();
            vec![or(c.weight_filler.as_ref(), constant(0.0)), or(c.bias_filler.as_ref(), constant(0.0))]
        }
        "Embed" => {
            let c = layer.embed_param.clone().unwrap_or_default();
            vec![or(c.weight_filler.as_ref(), constant(0.0)), or(c.bias_filler.as_ref(), constant(0.0))]
        }
        "Scale" => {
            let c = layer.scale_param.clone().unwrap_or_default();
            let scale = or(c.filler.as_ref(), constant(1.0));
            let bias = or(c.bias_filler.as_ref(), constant(0.0));
            if layer.bottom.len() == 1 {
                vec![scale, bias]
            } else {
                vec![bias]
            }
        }
        "Bias" => vec![or(layer.bias_param.as_ref().and_then(|b| b.filler.as_ref()), constant(0.0))],
        "PReLU" => vec![or(layer.prelu_param.as_ref().and_then(|b| b.filler.as_ref()), constant(0.25))],
        "BatchNorm" => vec![constant(0.0); 3],
        _ => vec![],
    };
    params
        .iter()
        .take(n)
        .map(|p| Filler::from_param(p).map_err(|e: Error| e.context(format!("layer '{}'", layer.name()))))
        .collect()
}
