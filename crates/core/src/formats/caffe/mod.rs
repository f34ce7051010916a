//! Caffe: prototxt (V1 and V2), binary .caffemodel (V1 and V2), .caffemodel.h5 and mean.binaryproto.

pub mod export;
pub mod h5;
pub mod layers;
pub mod mean;
pub mod net;
pub mod proto;
pub mod prototxt;
pub mod train_net;
pub mod weights;

pub use layers::SUPPORTED;
pub use mean::read_mean;

use super::Model;
use crate::Result;

/// Loads a deploy or train_test prototxt with its weights (.caffemodel of either version, or .h5).
pub fn load(prototxt: &[u8], weights: &[u8]) -> Result<Model> {
    let mut r = weights::Reader::new(Some(weights.len() as u64));
    r.push(weights)?;
    load_read(prototxt, r)
}

/// Loads a prototxt with weights that were streamed into a reader.
pub fn load_read(prototxt: &[u8], weights: weights::Reader) -> Result<Model> {
    let net = prototxt::parse_text(prototxt)?;
    let (layers, v1) = prototxt::layers(&net)?;
    let (blobs, wformat) = weights.finish()?;
    let (graph, notes, transform) = net::build(&net, &layers, blobs)?.finish()?;
    graph.prepare();
    Ok(Model {
        graph,
        format: format!("Caffe ({} prototxt, {} weights)", if v1 { "V1" } else { "V2" }, wformat.describe()),
        notes,
        transform,
    })
}
