//! mean.binaryproto: a serialized BlobProto holding the training set's mean image.

use super::proto::BlobProto;
use super::weights::blob;
use crate::{bail, Error, Result, Tensor};
use prost::Message;

/// Reads a mean file as a C×H×W tensor (a leading batch of 1 is dropped).
pub fn read_mean(bytes: &[u8]) -> Result<Tensor> {
    if let Some(kind) = crate::formats::sniff::other_kind(bytes) {
        bail!(format, "the mean file is {kind}, not a mean.binaryproto");
    }
    let proto = BlobProto::decode(bytes).map_err(|e| Error::format(format!("not a readable mean.binaryproto: {e}")))?;
    let b = blob(&proto).map_err(|e| e.context("mean.binaryproto"))?;
    let mut shape = b.shape.clone();
    while shape.len() > 3 && shape[0] == 1 {
        shape.remove(0);
    }
    if shape.len() != 3 || b.data.is_empty() {
        bail!(format, "mean.binaryproto holds a blob of shape {:?}, not a C×H×W image", b.shape);
    }
    Ok(crate::ops::tensor(&shape, b.data))
}
