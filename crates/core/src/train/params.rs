//! Each layer's learning-rate and weight-decay multipliers, per parameter blob, as Caffe's Net::AppendParam
//! assigns them: the layer's `param { lr_mult decay_mult }` (V1: `blobs_lr`, `weight_decay`) in blob order,
//! 1 and 1 for blobs without one.

use crate::formats::caffe::proto::{LayerParameter, NetParameter, ParamSpec, Phase};
use crate::formats::caffe::prototxt;
use crate::{bail, Result};

/// (lr_mult, decay_mult) per parameter blob of one layer, in blob order.
pub type Mults = Vec<(f32, f32)>;

/// Parameter blobs a layer of this type holds (Caffe's LayerSetUp), or None for a type this does not
/// know (its `param` entries are then taken as its blobs).
pub fn blob_count(layer: &LayerParameter) -> Option<usize> {
    let bias = |b: Option<bool>| b.unwrap_or(true) as usize;
    Some(match layer.r#type() {
        "Convolution" | "Deconvolution" => 1 + bias(layer.convolution_param.as_ref().map(|c| c.bias_term())),
        "InnerProduct" => 1 + bias(layer.inner_product_param.as_ref().map(|c| c.bias_term())),
        "Embed" => 1 + bias(layer.embed_param.as_ref().map(|c| c.bias_term())),
        // A second bottom supplies the scale (or the bias) instead of a learned blob.
        "Scale" => {
            (layer.bottom.len() == 1) as usize + layer.scale_param.as_ref().is_some_and(|s| s.bias_term()) as usize
        }
        "Bias" => (layer.bottom.len() == 1) as usize,
        "PReLU" => 1,
        "BatchNorm" => 3,
        _ => return None,
    })
}

/// A layer's (lr_mult, decay_mult) per parameter blob, in blob order; empty for a layer without blobs.
pub fn layer_mults(layer: &LayerParameter) -> Result<Mults> {
    let n = blob_count(layer).unwrap_or(layer.param.len());
    if layer.param.len() > n {
        bail!(
            model,
            "layer '{}' ({}) has {} param {{}} entries but only {n} parameter blobs",
            layer.name(),
            layer.r#type(),
            layer.param.len()
        );
    }
    let batch_norm = layer.r#type() == "BatchNorm";
    (0..n)
        .map(|i| match layer.param.get(i) {
            // BatchNorm's blobs are statistics, not learned (Caffe sets their lr_mult to 0 and insists).
            Some(p) if batch_norm && p.lr_mult() != 0.0 => {
                bail!(
                    model,
                    "layer '{}' (BatchNorm): its statistics cannot be learned (lr_mult must be 0)",
                    layer.name()
                )
            }
            Some(p) => check(layer, p),
            None if batch_norm => Ok((0.0, 1.0)),
            None => Ok((1.0, 1.0)),
        })
        .collect()
}

fn check(layer: &LayerParameter, p: &ParamSpec) -> Result<(f32, f32)> {
    let (lr, decay) = (p.lr_mult(), p.decay_mult());
    if !lr.is_finite() || !decay.is_finite() {
        bail!(model, "layer '{}': lr_mult and decay_mult must be numbers", layer.name());
    }
    Ok((lr, decay))
}

/// The multipliers of every layer of the TRAIN net that has parameter blobs, by layer name in net order.
pub fn param_mults_of(net: &NetParameter) -> Result<Vec<(String, Mults)>> {
    let layers: Vec<LayerParameter> = if net.layers.is_empty() {
        net.layer.clone()
    } else {
        if !net.layer.is_empty() {
            bail!(format, "the net mixes `layer` (V2) and `layers` (V1) definitions");
        }
        // V1: blobs_lr and weight_decay become the V2 param entries (Caffe's UpgradeV1LayerParameter).
        net.layers
            .iter()
            .map(|v1| {
                let mut l = prototxt::upgrade_v1(v1)?;
                let n = v1.blobs_lr.len().max(v1.weight_decay.len());
                l.param = (0..n)
                    .map(|i| ParamSpec {
                        lr_mult: v1.blobs_lr.get(i).copied(),
                        decay_mult: v1.weight_decay.get(i).copied(),
                        ..Default::default()
                    })
                    .collect();
                Ok(l)
            })
            .collect::<Result<_>>()?
    };
    let mut out = Vec::new();
    for l in layers.iter().filter(|l| prototxt::in_phase(l, Phase::Train)) {
        let m = layer_mults(l).map_err(|e| e.context("reading lr_mult and decay_mult"))?;
        if !m.is_empty() {
            out.push((l.name().to_string(), m));
        }
    }
    Ok(out)
}

/// [`param_mults_of`] a text train_test prototxt.
pub fn param_mults(prototxt: &[u8]) -> Result<Vec<(String, Mults)>> {
    param_mults_of(&prototxt::parse_text(prototxt)?)
}
