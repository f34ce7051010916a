//! Writes a Caffe net's learned blobs as a binary V2 `.caffemodel`: a NetParameter whose `layer {}` entries
//! carry name, type and blobs (with their shapes), as Caffe's own snapshots do. Caffe, OpenCV dnn and this
//! reader match the blobs to the prototxt's layers by name.

use super::proto::{BlobProto, BlobShape, LayerParameter, NetParameter};
use crate::formats::Model;
use crate::{bail, Result};
use prost::Message;

/// The model's weights as `.caffemodel` bytes; `name` becomes the net's name. Only a model read from Caffe
/// files has the layer names and blob layout a Caffe reader expects.
pub fn caffemodel(model: &Model, name: &str) -> Result<Vec<u8>> {
    if !model.format.starts_with("Caffe") {
        bail!(input, "only a Caffe model can be written as a .caffemodel (this one is {})", model.format);
    }
    let layer = model
        .graph
        .nodes
        .iter()
        .filter(|n| !n.weights().is_empty())
        .map(|n| LayerParameter {
            name: Some(n.name.clone()),
            r#type: Some(n.type_name.clone()),
            blobs: n
                .weights()
                .iter()
                .map(|w| BlobProto {
                    shape: Some(BlobShape { dim: w.shape().iter().map(|&d| d as i64).collect() }),
                    data: w.iter().copied().collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    Ok(NetParameter { name: Some(name.to_string()), layer, ..Default::default() }.encode_to_vec())
}

/// A C×H×W mean image as a `mean.binaryproto`, as Caffe's compute_image_mean writes it (a BlobProto of
/// num 1, channels, height, width).
pub fn mean_binaryproto(mean: &crate::Tensor) -> Result<Vec<u8>> {
    let &[c, h, w] = mean.shape() else {
        bail!(input, "a mean image is C×H×W, not {}", crate::ops::fmt_shape(mean.shape()));
    };
    Ok(BlobProto {
        num: Some(1),
        channels: Some(c as i32),
        height: Some(h as i32),
        width: Some(w as i32),
        data: mean.iter().copied().collect(),
        ..Default::default()
    }
    .encode_to_vec())
}
