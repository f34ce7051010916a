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
