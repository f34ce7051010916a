//! Learned blobs from a binary .caffemodel (V1 or V2) or a .caffemodel.h5 snapshot.

use super::proto::{BlobProto, NetParameter};
use crate::{bail, Error, Result};
use prost::Message;
use std::collections::HashMap;

/// One stored blob.
#[derive(Debug, Clone, PartialEq)]
pub struct Blob {
    pub shape: Vec<usize>,
    /// The shape came from the legacy num/channels/height/width fields.
    pub legacy: bool,
    pub data: Vec<f32>,
}

/// Blobs by layer name, in the order the layer stores them.
pub type BlobMap = HashMap<String, Vec<Blob>>;

const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsFormat {
    /// Binary protobuf NetParameter; `v1` when its layers use the legacy `layers` field.
    Binary {
        v1: bool,
    },
    Hdf5,
}

impl WeightsFormat {
    pub fn describe(&self) -> &'static str {
        match self {
            WeightsFormat::Binary { v1: true } => "binary V1 .caffemodel",
            WeightsFormat::Binary { v1: false } => "binary V2 .caffemodel",
            WeightsFormat::Hdf5 => ".caffemodel.h5",
        }
    }
}

pub fn is_hdf5(bytes: &[u8]) -> bool {
    bytes.starts_with(HDF5_MAGIC)
}

/// Reads the blobs of a .caffemodel or .caffemodel.h5, telling them apart by content.
pub fn read(bytes: &[u8]) -> Result<(BlobMap, WeightsFormat)> {
    if bytes.is_empty() {
        bail!(format, "the weights file is empty");
    }
    if is_hdf5(bytes) {
        return Ok((super::h5::read(bytes)?, WeightsFormat::Hdf5));
    }
    if looks_like_text(bytes) {
        bail!(format, "the weights file is text, not a binary .caffemodel (was a .prototxt given as weights?)");
    }
    let net = NetParameter::decode(bytes).map_err(|e| {
        let e = e.to_string();
        if e.contains("buffer underflow") {
            Error::format(format!("the weights file is truncated: it ends in the middle of a record ({e})"))
        } else {
            Error::format(format!("the weights file is not a binary .caffemodel (or it is damaged): {e}"))
        }
    })?;
    let mut map = BlobMap::new();
    let v1 = net.layer.is_empty() && !net.layers.is_empty();
    for l in &net.layer {
        add_layer(&mut map, l.name(), &l.blobs)?;
    }
    for l in &net.layers {
        add_layer(&mut map, l.name(), &l.blobs)?;
    }
    if map.is_empty() {
        bail!(format, "the weights file holds no learned blobs: it is not a trained .caffemodel");
    }
    Ok((map, WeightsFormat::Binary { v1 }))
}

fn add_layer(map: &mut BlobMap, name: &str, blobs: &[BlobProto]) -> Result<()> {
    if blobs.is_empty() {
        return Ok(());
    }
    let blobs = blobs
        .iter()
        .enumerate()
        .map(|(i, b)| blob(b).map_err(|e| e.context(format!("layer '{name}', blob {i}"))))
        .collect::<Result<Vec<_>>>()?;
    map.insert(name.to_string(), blobs);
    Ok(())
}

/// Converts a BlobProto, taking the shape from `shape` or the legacy 4-D fields and the values from
/// `data` or `double_data`.
pub fn blob(b: &BlobProto) -> Result<Blob> {
    let (shape, legacy) = if let Some(s) = b.shape.as_ref() {
        (dims(&s.dim)?, false)
    } else {
        (dims(&[b.num() as i64, b.channels() as i64, b.height() as i64, b.width() as i64])?, true)
    };
    let data: Vec<f32> =
        if !b.data.is_empty() { b.data.clone() } else { b.double_data.iter().map(|&v| v as f32).collect() };
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if count != Some(data.len()) {
        bail!(format, "holds {} values but its shape {:?} needs {:?}", data.len(), shape, count);
    }
    Ok(Blob { shape, legacy, data })
}

fn dims(d: &[i64]) -> Result<Vec<usize>> {
    d.iter()
        .map(|&v| usize::try_from(v).map_err(|_| Error::format(format!("negative dimension {v} in blob shape {d:?}"))))
        .collect()
}

/// A mostly printable prefix means a text file.
fn looks_like_text(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    let printable =
        head.iter().filter(|&&c| c == b'\n' || c == b'\t' || c == b'\r' || (0x20..0x7f).contains(&c)).count();
    printable == head.len()
}

impl Blob {
    /// Caffe's Blob::ShapeEquals: the stored shape equals `target`, or the legacy 4-D shape equals
    /// `target` padded with leading 1s.
    pub fn fits(&self, target: &[usize]) -> bool {
        if self.shape == target {
            return true;
        }
        if !self.legacy || target.len() > 4 {
            return false;
        }
        let mut padded = vec![1; 4 - target.len()];
        padded.extend_from_slice(target);
        self.shape == padded
    }
}
